//! The poll layer of more-executors (work in progress).
