//! (to be written)

use super::{RenderContext, Rendered};

pub fn render(_ctx: &RenderContext) -> Vec<Rendered> {
    Vec::new()
}
