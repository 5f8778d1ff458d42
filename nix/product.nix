# The product, read from the files maou-build reads (pyproject.toml and the Cargo
# workspace it names), never assumed: its name, version and module, the cdylib and the rlib
# crates beside it, the CPythons requires-python allows, the platform and the wheel
# features. And the sources each step of the chain may see, as filesets: an edit to the
# README, CI, or the tool (`src/`) changes none of them.
{
  lib,
  root,
}: let
  inherit (lib) fileset;
  pyproject = builtins.fromTOML (builtins.readFile (root + "/pyproject.toml"));
  maturin = pyproject.tool.maturin or {};
  manifestPath = maturin.manifest-path or "Cargo.toml";
  # rust/maou_rust/Cargo.toml -> rust/maou_rust; its workspace is the nearest directory
  # above it whose Cargo.toml has [workspace] (here rust/, at dousu/maou the root).
  cdylibDir = dirOf manifestPath;
  workspaceDir = let
    up = dir:
      if builtins.pathExists (root + "/${dir}/Cargo.toml") && (builtins.fromTOML (builtins.readFile (root + "/${dir}/Cargo.toml"))) ? workspace
      then dir
      else if dir == "."
      then throw "no Cargo workspace above ${manifestPath}"
      else up (dirOf dir);
  in
    up cdylibDir;
  at = dir: rel:
    if dir == "."
    then rel
    else "${dir}/${rel}";
  cargoWorkspace = builtins.fromTOML (builtins.readFile (root + "/${at workspaceDir "Cargo.toml"}"));
  cdylibToml = builtins.fromTOML (builtins.readFile (root + "/${manifestPath}"));
  # Members in the workspace's order, the cdylib last: the rlib steps of the chain.
  members = map (at workspaceDir) cargoWorkspace.workspace.members;
  manifestOf = dir: builtins.fromTOML (builtins.readFile (root + "/${dir}/Cargo.toml"));
  # A dylib member is the dev builds' third-party dylib ([tool.maou-build]
  # dev-dylib-feature): no release build links it, so no step builds it.
  dylibDirs = builtins.filter (d: builtins.elem "dylib" ((manifestOf d).lib.crate-type or [])) members;
  rlibDirs = builtins.filter (d: d != cdylibDir && !(builtins.elem d dylibDirs)) members;
  crateName = dir: (manifestOf dir).package.name;
  pythonSource = maturin.python-source or ".";
  module = maturin.module-name or (builtins.replaceStrings ["-"] ["_"] pyproject.project.name);
  modulePath = builtins.replaceStrings ["."] ["/"] module;
  packageDir = at pythonSource (dirOf modulePath);
  version = let
    v = cdylibToml.package.version;
  in
    if builtins.isAttrs v
    then cargoWorkspace.workspace.package.version
    else v;

  # Everything cargo and maturin read for the wheels, nothing they do not.
  # The Cargo workspace is its manifest, lock and members (at dousu/maou it is the root,
  # beside the README, CI and the flake, which build nothing).
  productFiles = fileset.unions ([
      (root + "/${at workspaceDir "Cargo.toml"}")
      (root + "/${at workspaceDir "Cargo.lock"}")
      (fileset.maybeMissing (root + "/${at workspaceDir ".cargo"}"))
      (fileset.maybeMissing (root + "/.cargo"))
      (root + "/pyproject.toml")
      # The Python package without what builds leave in it.
      (fileset.difference
        (fileset.fileFilter (f: !(f.hasExt "so" || f.hasExt "pyc")) (root + "/${pythonSource}"))
        (fileset.maybeMissing (root + "/${at pythonSource ".maou-build-dev-libs"}")))
    ]
    ++ map (dir: fileset.difference (root + "/${dir}") (fileset.maybeMissing (root + "/${dir}/target"))) members);
in {
  inherit module packageDir version workspaceDir rlibDirs crateName;
  devDylibCrates = map crateName dylibDirs;
  inherit (pyproject.project) name;
  # Oldest first: the chain builds with the first, as `maou-build wheel` does.
  pythons = import ./requires-python.nix {inherit lib;} (pyproject.project.requires-python or "");
  # The default platform's one source, read by maou-build too (src/audit/policy.rs).
  platform = maturin.compatibility or maturin.manylinux or (lib.importJSON ../src/audit/platforms.json).default;
  # The wheels' features, as `maou-build wheel` gives them to maturin (whose --features
  # replace [tool.maturin]'s): [tool.maturin]'s without the dev dylib's, then
  # [tool.maou-build] wheel-features (src/workspace/inputs.rs, release_features).
  releaseFeatures = let
    own = pyproject.tool.maou-build or {};
    maturinFeatures = builtins.filter (f: f != (own.dev-dylib-feature or null)) (maturin.features or []);
  in
    lib.unique (maturinFeatures ++ (own.wheel-features or []));
  # Whether [tool.maturin] names features: then an empty releaseFeatures is passed as
  # `--features ''`, which replaces them (features.rs, args_over).
  maturinNamesFeatures = (maturin.features or []) != [];
  # Native libraries the wheels carry, each pinned by hash (bundled.nix).
  bundledLibraries = (pyproject.tool.maou-build or {}).bundled-libraries or [];
  src = fileset.toSource {
    inherit root;
    fileset = productFiles;
  };
  # What the chain's dummy steps need beyond crane's dummy workspace: a pyproject.toml
  # with only what maturin's build reads, so that a dependency or description edit
  # rebuilds nothing.
  buildPyproject = {
    build-system = pyproject.build-system;
    project =
      {
        inherit (pyproject.project) name;
        dynamic = ["version"];
      }
      // lib.optionalAttrs (pyproject.project ? requires-python) {inherit (pyproject.project) requires-python;};
    tool.maturin = maturin;
  };
  # The lock, alone: crane's dummy workspace keeps only a Cargo.lock at its root.
  cargoLock = root + "/${at workspaceDir "Cargo.lock"}";
  lockSrc = fileset.toSource {
    inherit root;
    fileset = root + "/${at workspaceDir "Cargo.lock"}";
  };
  lockPath = at workspaceDir "Cargo.lock";
  # One crate's directory alone, to lay over a dummy workspace.
  crate = dir:
    fileset.toSource {
      inherit root;
      fileset = root + "/${dir}";
    };
}
