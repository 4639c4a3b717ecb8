//! Test support shared by the test binaries: the semaphore checkers' interface and the naive
//! semaphores they must reject, the rate limiter's window checker, and the proptest plumbing of
//! the model tests, and the hostile wakers and values of `hostile.rs`.

pub mod hostile;
pub mod naive_semaphore;
pub mod poller;
pub mod proptest_support;
pub mod semaphore_under_test;
pub mod window_checker;
