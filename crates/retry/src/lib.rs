//! The retry layer of more-executors (work in progress).
