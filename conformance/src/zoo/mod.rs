//! The bug zoo: naive implementations, each with one known bug, that the checkers must reject —
//! and a correct one of each, that they must accept. A checker that passes its naive version is
//! a checker with no teeth.

pub mod channel;
pub mod conn_pool;
pub mod lock;
pub mod rate;
pub mod semaphore;
pub mod token;
pub mod worker_pool;
