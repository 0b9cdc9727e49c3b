//! TODO(owner): see the module list in api/mod.rs.
