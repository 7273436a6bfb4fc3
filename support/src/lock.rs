//! Locking a `std::sync::Mutex` that may have been poisoned.
//!
//! A mutex is poisoned when a thread panicked while holding it. That is a warning that the data
//! may be half-updated; it is not a reason to stop. Every mutex in this crate guards data that
//! each operation leaves consistent (a push onto a list, one hash map insert or removal, a
//! panic hook swap), so a poisoned lock still holds usable data, and taking it anyway keeps one
//! panicking cell or connection from breaking every later one. Code whose updates span several
//! steps should not copy this: for it, poison is the right alarm.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, taking the data even if another thread panicked while holding it.
pub fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_still_gives_its_data() {
        let shared = Mutex::new(vec![1]);
        let _ = std::panic::catch_unwind(|| {
            let mut list = shared.lock().expect("not yet poisoned");
            list.push(2);
            panic!("while holding the lock");
        });
        assert!(shared.is_poisoned());
        assert_eq!(*lock(&shared), [1, 2]);
    }
}
