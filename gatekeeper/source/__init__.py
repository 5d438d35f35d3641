"""The source map: what the Terraform code says about each planned change.

Modules, in the order data flows through them:
- `scan`: splits HCL text into blocks and attribute spans (one pass, pure Python);
- `expr`: parses one attribute's expression (python-hcl2, with a fast path for literals);
- `address`: parses a plan's resource address into module path, type, name and key;
- `blocks`: a module's files as indexed blocks and attributes (text in, no file system);
- `tree`: the checkout on disk, the only reader of the file system; module instances;
- `evaluate`: static evaluation of variables, locals, each/count and a few functions;
- `tags`: the tags a change's object carries (override files, provider default_tags);
- `mapper`: SourceFacts for each change (location, lifecycle, tags, moved/removed notes);
- `model`: the result, `SourceFacts` and `Location` (pure data, cheap to import);
- `cli`: the --source/--base-source/--repo-root options (imports the mapper only when used).


For every resource change in a plan: where its `resource` block is (file and lines, relative
to the repository root), the tags that resolve statically (for the streaming `plan -json`
log, which carries no attribute values), its lifecycle settings and the `moved`/`removed`
blocks that explain it. The classifier consumes the result (`SourceFacts`).

How it stays fast (python-hcl2 alone needs about 4 s for 1 MB of .tf; this maps a 1 MB root
module in 0.6 s when a tenth of it is destroyed, 2.2 s when all of it is: see
scripts/bench_source.py): files are split into blocks by `scan` (pure Python, one pass),
and python-hcl2 parses only the attributes the gate reads (a module call's `source`, a
resource's tags and lifecycle, the locals and variables they refer to), with a fast path for
plain literals. Only modules on the path of a planned address are read; the lark parser is
built once per process.

Fail closed: anything that does not resolve statically (a root variable, a resource
attribute, a function not evaluated here, a file that does not parse) is reported in
`unresolved`, which keeps a destructive change "possibly production".

Decisions (see README "Source mapping"):
- Root module variables can be set at plan time (-var, -var-file, TF_VAR_x), which the code
  does not show. A tag that depends on one is reported with its default (or the value in
  terraform.tfvars / *.auto.tfvars) *and* as unresolved, unless that value already makes the
  change production. Variables of child modules set by a module argument (or their
  defaults) cannot be overridden from outside and resolve normally.
- A variable declared `sensitive = true` (in its block or an override file) and a value
  passed to `sensitive()` are never read: not from .tfvars, a module argument or a default.
  What depends on one is unresolved, with a reason that names the variable (never its
  value), so the change stays possibly production. Parse errors in .tfvars files and in
  expressions that call sensitive() quote no text.
- `Location.file` is relative to the repository root: `--repo-root`, else the nearest
  directory above the source dir that holds `.git`, else the current directory.
- Tags of a destroyed object come from the base code when `--base-source` is given (a
  delete reads the base, a replace reads both and keeps the production value); otherwise
  from the PR's code, with a note. When the base code is given but does not describe the
  object, the PR's tags can make it production, never clear it (unresolved otherwise).
- Override files: their resource attributes replace the block's (tags read from them);
  override module calls, locals, variables and providers are not merged and leave
  non-production tags unresolved.
- Code is read only under the repository root and the source dir (real paths: a module
  source or symlink leading outside is not followed; without a repository root, under the
  source dir only), and no file over MAX_FILE_BYTES (a problem; what it holds is unknown).
"""
