//! Test support shared by the test binaries: the semaphore checkers' interface and the naive
//! semaphores they must reject.

pub mod naive_semaphore;
pub mod semaphore_under_test;
