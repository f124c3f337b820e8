//! The jobs layer of more-executors (work in progress).
