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
// Shown in `stage`, the layer author's kit, not at the crate root with the user's items.
#[doc(hidden)]
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

/// Writes the tower accessor set of a wrapper whose inner executor (or service) is its
/// field `inner`: `get_ref(&self) -> &S`, `get_mut(&mut self) -> &mut S` and
/// `into_inner(self) -> S`, each with its doc and a runnable example.
///
/// Expands inside the wrapper's `impl` block. The caller gives:
/// - the example's setup, as `///` lines: the code that binds `exec` to a wrapper (the
///   examples run as doctests of the crate that invokes the macro, so it names that crate);
/// - `executor: S` (or `service: S`): the noun the docs use for the inner value, and its
///   type in the signatures;
/// - `inner: T`: the concrete type `exec` wraps in the example;
/// - `check: { .. }`: statements about `inner`, run by each example after the accessor
///   under test gave it (as `&T`, `&mut T`, then `T`);
/// - optionally `submitted: ".."`: what becomes of jobs already submitted when the
///   wrapper is unwrapped, after the generated "Jobs already submitted are unaffected".
///
/// Each example is the setup, then (for `get_mut`, after `let mut exec = exec;`)
/// `let inner: &T = exec.get_ref();`, `let inner: &mut T = exec.get_mut();` or
/// `let inner: T = exec.into_inner();`, then the check: the type annotation makes the
/// doctest fail when an accessor stops giving the inner value.
///
/// ```
/// use more_executors_core::prelude::*;
/// use more_executors_core::stage::inner_accessors;
///
/// /// A layer of the crate `my_layer`.
/// #[derive(Debug)]
/// pub struct Wrapper<S> {
///     inner: S,
/// }
///
/// impl<S> Wrapper<S> {
///     /// Wraps `inner`.
///     pub fn new(inner: S) -> Self {
///         Wrapper { inner }
///     }
///
///     inner_accessors! {
///         /// use more_executors_core::prelude::*;
///         /// use my_layer::Wrapper;
///         ///
///         /// let exec = Wrapper::new(InlineExecutor::builder().name("here").build());
///         executor: S,
///         inner: InlineExecutor,
///         check: { assert_eq!(inner.name(), "here"); },
///         submitted: "their stage futures were built when they were submitted",
///     }
/// }
///
/// let mut exec = Wrapper::new(InlineExecutor::builder().name("here").build());
/// assert_eq!(exec.get_ref().name(), "here");
/// assert_eq!(exec.get_mut().kind(), "inline");
/// let inner: InlineExecutor = exec.into_inner();
/// assert_eq!(inner.name(), "here");
/// ```
///
/// generates the three methods, documented as "The wrapped executor.", "The wrapped
/// executor, mutably." and "Unwraps the inner executor. Jobs already submitted are
/// unaffected: their stage futures were built when they were submitted.", the first with
/// the example
///
/// ```text
/// use more_executors_core::prelude::*;
/// use my_layer::Wrapper;
///
/// let exec = Wrapper::new(InlineExecutor::builder().name("here").build());
/// let inner: &InlineExecutor = exec.get_ref();
/// assert_eq!(inner.name(), "here");
/// ```
///
/// Wrappers that share their inner executor in an `Arc` (the concurrency limit, retry)
/// write their own `get_mut -> Option<&mut S>` and `into_inner -> Result<S, Self>`.
#[doc(hidden)]
#[macro_export]
macro_rules! inner_accessors {
    (
        $(#[doc = $setup:expr])*
        $noun:ident: $S:ty,
        inner: $T:ty,
        check: { $($check:tt)* }
        $(, submitted: $submitted:expr)? $(,)?
    ) => {
        $crate::inner_accessors!(
            @methods [$($setup),*] $noun, $S, $T, stringify!($($check)*), [$($submitted)?]
        );
    };
    // The check as a string: tokens written in another macro's body lose their spacing
    // in `stringify!` (`assert_eq! (..)`), so core's own form passes it written out.
    (@methods [$($setup:expr),*] $noun:ident, $S:ty, $T:ty, $check:expr, [$($submitted:expr)?]) => {
        $crate::inner_accessors!(@doc [$($setup),*],
            concat!("The wrapped ", stringify!($noun), "."),
            concat!("let inner: &", stringify!($T), " = exec.get_ref();"),
            $check,
            pub fn get_ref(&self) -> &$S {
                &self.inner
            }
        );
        $crate::inner_accessors!(@doc [$($setup),*],
            concat!("The wrapped ", stringify!($noun), ", mutably."),
            concat!("let mut exec = exec;\n let inner: &mut ", stringify!($T), " = exec.get_mut();"),
            $check,
            pub fn get_mut(&mut self) -> &mut $S {
                &mut self.inner
            }
        );
        $crate::inner_accessors!(@doc [$($setup),*],
            concat!(
                "Unwraps the inner ", stringify!($noun), ". Jobs already submitted are unaffected",
                $(": ", $submitted,)? "."
            ),
            concat!("let inner: ", stringify!($T), " = exec.into_inner();"),
            $check,
            pub fn into_inner(self) -> $S {
                self.inner
            }
        );
    };
    // Every line starts with a space, as `///` lines do, so that rustdoc strips it from all.
    (@doc [$($setup:expr),*], $summary:expr, $get:expr, $check:expr, $item:item) => {
        #[doc = concat!(
            " ", $summary, "\n\n ```\n", $($setup, "\n",)* " ", $get, "\n ", $check, "\n ```"
        )]
        $item
    };
}

/// [`inner_accessors!`] for core's layers, whose examples wrap an `InlineExecutor` named
/// `"inner"`: `$path` is the wrapper's path from the crate root, `$args` what `new` takes
/// after the inner executor, `$submitted` the optional note on jobs already submitted.
macro_rules! core_accessors {
    ($path:expr, $args:literal $(, $submitted:literal)?) => {
        $crate::inner_accessors!(
            @methods [
                " use more_executors_core::prelude::*;",
                " let inner = InlineExecutor::builder().name(\"inner\").build();",
                concat!(" let exec = more_executors_core::", $path, "::new(inner", $args, ");")
            ]
            executor, S, InlineExecutor, "assert_eq!(inner.name(), \"inner\");", [$($submitted)?]
        );
    };
}
pub(crate) use core_accessors;
