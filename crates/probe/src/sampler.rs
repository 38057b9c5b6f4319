//! The sampler thread (in progress).
