//! Helpers for writing layers.

/// Implements the forwarding methods of [`Lifecycle`](crate::Lifecycle) for a layer struct
/// with fields `inner` (the wrapped executor) and `name: Option<Arc<str>>`.
///
/// Expands inside an `impl Lifecycle for ...` block; `shutdown` must still be written
/// when the layer has work of its own to do on shutdown (use the two-argument form then).
///
/// ```
/// use std::sync::Arc;
/// use more_executors_core::{forward_lifecycle, Lifecycle};
///
/// #[derive(Debug)]
/// struct Logged<S> { inner: S, name: Option<Arc<str>> }
///
/// impl<S: Lifecycle> Lifecycle for Logged<S> {
///     forward_lifecycle!("logged");
/// }
/// ```
#[macro_export]
macro_rules! forward_lifecycle {
    ($kind:literal) => {
        $crate::forward_lifecycle!($kind, no_shutdown);
        fn shutdown(&self) {
            self.inner.shutdown()
        }
    };
    ($kind:literal, no_shutdown) => {
        fn name(&self) -> &str {
            match &self.name {
                Some(n) => n,
                None => self.inner.name(),
            }
        }
        fn kind(&self) -> &'static str {
            $kind
        }
        fn runtime(&self) -> &$crate::Runtime {
            self.inner.runtime()
        }
        fn runs_inline(&self) -> bool {
            self.inner.runs_inline()
        }
        fn capacity(&self) -> ::core::option::Option<$crate::limit::Capacity> {
            self.inner.capacity()
        }
    };
}
