//! Type-erased executors: [`BoxExecutor`] and [`BoxCloneExecutor`], to name a stack built
//! with closures (a struct field, a function's return type, one type for stacks chosen at
//! run time).
//!
//! Erasing costs one allocation per job (the boxed stage future) and a virtual call per
//! `call` and per poll of the job; unboxed stacks pay nothing for its existence. The job,
//! output and error types stay in the type: `BoxExecutor<J, T, E>` takes jobs `J`, and its
//! handles resolve to `Result<T, Error<E>>`.
//!
//! ```
//! use more_executors_core::prelude::*;
//! use more_executors_core::boxed::BoxCloneExecutor;
//! use more_executors_core::service::ServiceExecutor;
//!
//! /// A client whose stack is built with closures, kept in a struct field.
//! #[derive(Clone)]
//! struct Lengths {
//!     exec: BoxCloneExecutor<String, usize, std::io::Error>,
//! }
//!
//! impl Lengths {
//!     fn new(limit: usize) -> Result<Self, ConfigError> {
//!         let exec = ServiceExecutor::new(tower::service_fn(|s: String| async move {
//!             Ok::<_, std::io::Error>(s)
//!         }))
//!         .with_concurrency_limit(limit)?
//!         .with_map(|s: String| s.len());
//!         Ok(Lengths { exec: exec.boxed_clone() })
//!     }
//! }
//!
//! # #[tokio::main] async fn main() -> Result<(), ConfigError> {
//! let lengths = Lengths::new(4)?;
//! assert_eq!(lengths.exec.submit("four".to_string()).await.unwrap(), 4);
//! # Ok(()) }
//! ```

mod executor;

pub use executor::{BoxCloneExecutor, BoxExecutor, BoxStageFuture};
