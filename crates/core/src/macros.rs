//! Helpers for writing layers.

/// Implements the forwarding methods of [`Lifecycle`](crate::Lifecycle) for a layer struct
/// whose wrapped executor is in a field named `inner`.
///
/// Expands inside an `impl Lifecycle for ...` block. The forms:
/// - `forward_lifecycle!("kind")`: every method goes to `inner`, the name included;
/// - `forward_lifecycle!("kind", named)`: the same, except that the layer's own
///   `name: Option<Arc<str>>` field, when set, is its name;
/// - either of these followed by `, no_shutdown`: `shutdown` is left for the impl to
///   write, for a layer that has work of its own to do on shutdown.
///
/// ```
/// use std::sync::Arc;
/// use more_executors_core::stage::forward_lifecycle;
/// use more_executors_core::Lifecycle;
///
/// #[derive(Debug)]
/// struct Logged<S> { inner: S }
///
/// impl<S: Lifecycle> Lifecycle for Logged<S> {
///     forward_lifecycle!("logged");
/// }
///
/// #[derive(Debug)]
/// struct Counted<S> { inner: S, name: Option<Arc<str>> }
///
/// impl<S: Lifecycle> Lifecycle for Counted<S> {
///     forward_lifecycle!("counted", named, no_shutdown);
///     fn shutdown(&self) {
///         // flush counters, then:
///         self.inner.shutdown();
///     }
/// }
///
/// let exec = Counted { inner: Logged { inner: more_executors_core::InlineExecutor::new() }, name: None };
/// assert_eq!((exec.name(), exec.kind()), ("default", "counted"));
/// ```
#[macro_export]
macro_rules! forward_lifecycle {
    ($kind:literal) => {
        $crate::forward_lifecycle!($kind, no_shutdown);
        $crate::forward_lifecycle!(@shutdown);
    };
    ($kind:literal, named) => {
        $crate::forward_lifecycle!($kind, named, no_shutdown);
        $crate::forward_lifecycle!(@shutdown);
    };
    ($kind:literal, no_shutdown) => {
        fn name(&self) -> &str {
            self.inner.name()
        }
        $crate::forward_lifecycle!(@rest $kind);
    };
    ($kind:literal, named, no_shutdown) => {
        fn name(&self) -> &str {
            match &self.name {
                Some(n) => n,
                None => self.inner.name(),
            }
        }
        $crate::forward_lifecycle!(@rest $kind);
    };
    (@shutdown) => {
        fn shutdown(&self) {
            self.inner.shutdown()
        }
    };
    (@rest $kind:literal) => {
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

/// The tower accessor set (`get_ref`, `get_mut`, `into_inner`) of a wrapper whose inner
/// executor, of type `S`, is its `inner` field. Expands inside the wrapper's `impl` block;
/// `$path` is the wrapper's path from the crate root and `$args` what `new` takes after the
/// inner executor, for the doc example.
macro_rules! inner_accessors {
    ($path:expr, $args:literal) => {
        $crate::macros::inner_accessors!(@doc $path, $args, "The wrapped executor.",
            "assert_eq!(exec.get_ref().name(), \"inner\");",
            pub fn get_ref(&self) -> &S {
                &self.inner
            }
        );
        $crate::macros::inner_accessors!(@doc $path, $args, "The wrapped executor, mutably.",
            "let mut exec = exec;\nassert_eq!(exec.get_mut().name(), \"inner\");",
            pub fn get_mut(&mut self) -> &mut S {
                &mut self.inner
            }
        );
        $crate::macros::inner_accessors!(@doc $path, $args, "Unwraps the inner executor.",
            "assert_eq!(exec.into_inner().name(), \"inner\");",
            pub fn into_inner(self) -> S {
                self.inner
            }
        );
    };
    (@doc $path:expr, $args:literal, $summary:literal, $check:literal, $item:item) => {
        #[doc = concat!(
            $summary, "\n\n```\nuse more_executors_core::prelude::*;\n",
            "let inner = InlineExecutor::builder().name(\"inner\").build();\n",
            "let exec = more_executors_core::", $path, "::new(inner", $args, ");\n",
            $check, "\n```"
        )]
        $item
    };
}
pub(crate) use inner_accessors;
