//! A typed, thread-safe memo: one value per type, computed by the first
//! caller that asks for it and shared afterwards. A parsed file keeps the
//! values rules derive from its syntax (route discovery); a run's context
//! keeps the values rules derive from the project index (pre-filter words).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Memo {
    values: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl Memo {
    /// The `T` of this memo, made by `make` if no caller has asked yet.
    /// Two threads asking at once may both compute it; one result is kept.
    pub fn get_or<T: Any + Send + Sync>(&self, make: impl FnOnce() -> T) -> Arc<T> {
        let key = TypeId::of::<T>();
        let cached = self.values.lock().ok().and_then(|m| m.get(&key).cloned());
        if let Some(v) = cached.and_then(|v| v.downcast::<T>().ok()) {
            return v;
        }
        let v = Arc::new(make());
        if let Ok(mut m) = self.values.lock() {
            let kept = m.entry(key).or_insert_with(|| v.clone()).clone();
            if let Ok(kept) = kept.downcast::<T>() {
                return kept;
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_once_per_type() {
        let memo = Memo::default();
        let mut calls = 0;
        let a = memo.get_or(|| {
            calls += 1;
            7u32
        });
        let b = memo.get_or(|| {
            calls += 1;
            8u32
        });
        let s = memo.get_or(|| String::from("x"));
        assert_eq!((*a, *b, s.as_str(), calls), (7, 7, "x", 1));
    }
}
