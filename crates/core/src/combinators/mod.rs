//! Future combinators working on handles (and, where it makes sense, on any future).
