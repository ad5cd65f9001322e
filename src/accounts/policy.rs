//! Who may see and change whom: the rules every face applies, in one place.

use crate::error::{Error, Result};

use super::model::User;

/// Whether `viewer` may see `user` at all: members see active accounts only, admins see
/// everyone (a hidden account answers exactly like one that does not exist).
pub(crate) fn visible_to(user: &User, viewer: &User) -> bool {
    user.active || viewer.is_admin()
}

/// Whether `viewer` sees all of `user` (email, state, last login): their own account, or
/// any account as an admin. Others see the public profile.
pub(crate) fn sees_all_of(user: &User, viewer: &User) -> bool {
    viewer.is_admin() || viewer.id == user.id
}

/// Whether `viewer` lists every account (inactive ones too) and may search and sort by
/// email and last login: admins do; members list active accounts by their public fields.
pub(crate) fn lists_everyone(viewer: &User) -> bool {
    viewer.is_admin()
}

/// Whether `actor` may change `target`: their own account, or any account as an admin.
pub(crate) fn can_manage(actor: &User, target: &User) -> bool {
    actor.id == target.id || actor.is_admin()
}

/// Refuses anyone who may not change `target`.
pub(crate) fn ensure_can_manage(actor: &User, target: &User) -> Result<()> {
    if can_manage(actor, target) {
        Ok(())
    } else {
        Err(Error::forbidden(
            "You may only do this to your own account.",
        ))
    }
}
