use std::fmt;

use tower_layer::Layer;

use super::{AndThen, MapResult, OrElse};

macro_rules! transform_layer {
    ($(#[$doc:meta])* $layer:ident => $service:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $layer<M> {
            f: M,
        }

        impl<M> $layer<M> {
            #[doc = concat!("A layer wrapping executors in [`", stringify!($service), "`] with `f`.")]
            pub fn new(f: M) -> Self {
                $layer { f }
            }
        }

        impl<M> fmt::Debug for $layer<M> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(stringify!($layer))
            }
        }

        impl<S, M: Clone> Layer<S> for $layer<M> {
            type Service = $service<S, M>;
            fn layer(&self, inner: S) -> Self::Service {
                $service::new(inner, self.f.clone())
            }
        }
    };
}

transform_layer! {
    /// Layer producing [`AndThen`]: a fallible transform of each successful output.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_core::map_result::AndThenLayer;
    ///
    /// let exec = tower::ServiceBuilder::new()
    ///     .layer(AndThenLayer::new(|n: i32| if n >= 0 { Ok(n as u32) } else { Err("negative") }))
    ///     .service(InlineExecutor::new());
    /// assert_eq!(exec.submit(|| Ok::<_, &str>(-1)).wait(), Err(Error::Job("negative")));
    /// ```
    AndThenLayer => AndThen
}

transform_layer! {
    /// Layer producing [`OrElse`]: recovers from failures.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_core::map_result::OrElseLayer;
    ///
    /// let exec = tower::ServiceBuilder::new()
    ///     .layer(OrElseLayer::new(|_e: Error<&str>| Ok::<_, &str>(0)))
    ///     .service(InlineExecutor::new());
    /// assert_eq!(exec.submit(|| Err::<i32, _>("down")).wait(), Ok(0));
    /// ```
    OrElseLayer => OrElse
}

transform_layer! {
    /// Layer producing [`MapResult`]: transforms every outcome but a cancel.
    ///
    /// ```
    /// use more_executors_core::prelude::*;
    /// use more_executors_core::map_result::MapResultLayer;
    ///
    /// let exec = tower::ServiceBuilder::new()
    ///     .layer(MapResultLayer::new(|r: Result<i32, Error<()>>| Ok::<_, ()>(r.is_ok())))
    ///     .service(InlineExecutor::new());
    /// assert_eq!(exec.submit(|| Err::<i32, _>(())).wait(), Ok(false));
    /// ```
    MapResultLayer => MapResult
}
