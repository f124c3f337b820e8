//! The timeout layer of more-executors (work in progress).
