# Sources as filesets: a derivation sees only the files it reads, so an edit to the README,
# CI, or another crate does not rebuild it.
{
  lib,
  root,
}: let
  inherit (lib) fileset;
  toSource = set:
    fileset.toSource {
      inherit root;
      fileset = set;
    };
  cargoFiles = fileset.unions [
    (root + "/Cargo.toml")
    (root + "/Cargo.lock")
    (root + "/.cargo")
    (root + "/rust-toolchain.toml")
  ];
  buildFiles = fileset.unions [
    cargoFiles
    (root + "/pyproject.toml")
    (root + "/src")
    (root + "/rust")
    (root + "/python")
  ];
  pyproject = builtins.fromTOML (builtins.readFile (root + "/pyproject.toml"));
in {
  # What cargo and maturin read to build the CLI and the wheels.
  full = toSource buildFiles;
  # The same with the integration tests, for the checks.
  withTests = toSource (fileset.unions [buildFiles (root + "/tests")]);
  # One workspace crate's directory alone (rust/<name>), to lay over a dummy workspace.
  crate = name: toSource (root + "/rust/${name}");
  inherit (pyproject.project) name;
  inherit ((builtins.fromTOML (builtins.readFile (root + "/Cargo.toml"))).workspace.package) version;
  module = pyproject.tool.maturin.module-name;
}
