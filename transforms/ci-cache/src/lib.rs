//! Pass `ci-cache`: the BuildKit cache in CI. GitHub Actions workflows
//! (`.github/workflows/*.yml|yaml`) and `docker-bake.hcl` files are not
//! Dockerfiles: the batch driver finds them and calls [`check_workflow`]
//! and [`check_bake`]; [`Pass::check`] on a Dockerfile finds nothing.

pub mod bake;
pub mod text;
pub mod workflow;
pub mod yaml;

use dockfix_core::{Applicability, Context, Finding, Pass};

pub use bake::{check_bake, is_bake_file_name};
pub use workflow::{check_workflow, facts, is_workflow_path, Facts, Workflow};

pub const NAME: &str = "ci-cache";

/// The pass (listed, explained and selected like the others).
pub struct CiCache;

impl Pass for CiCache {
    fn name(&self) -> &'static str {
        NAME
    }
    fn summary(&self) -> &'static str {
        "Give GitHub Actions image builds and docker-bake.hcl targets a BuildKit cache (type=gha)"
    }
    fn explanation(&self) -> &'static str {
        include_str!("../EXPLAIN.md")
    }
    fn applicability(&self) -> Applicability {
        Applicability::Unsafe
    }
    fn check(&self, _cx: &Context<'_>) -> Vec<Finding> {
        Vec::new()
    }
}
