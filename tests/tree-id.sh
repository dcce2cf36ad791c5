# shellcheck shell=bash
# tree_id SRC: one line naming the tree's content as check-deb.sh packages it
# (tracked and new files, not ignored ones), so a package built from another
# state of the tree is known stale.
tree_id() {
	(cd "$1" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 sha256sum 2>/dev/null | sha256sum | cut -d' ' -f1)
}
