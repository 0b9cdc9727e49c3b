//! `genesys`: a typed client for the slice of the Genesys Cloud Platform API that public-stats uses.
//!
//! TODO(owner): module list and crate docs.
