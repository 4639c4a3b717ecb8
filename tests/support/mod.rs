//! Test support shared by the test binaries: the semaphore checkers' interface and the naive
//! semaphores they must reject, and the rate limiter's window checker.

pub mod naive_semaphore;
pub mod semaphore_under_test;
pub mod window_checker;
