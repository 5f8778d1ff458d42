# maou-build itself, from its own sources and lock: a change to it rebuilds no step of the
# product's chain (only the wheels, which it builds), and the other way round.
{
  lib,
  craneLib,
  root,
  pkgs,
}: let
  inherit (lib) fileset;
  toolFiles = fileset.unions [
    (root + "/Cargo.toml")
    (root + "/Cargo.lock")
    (fileset.maybeMissing (root + "/.cargo"))
    (fileset.maybeMissing (root + "/build.rs"))
    (root + "/src")
  ];
  src = fileset.toSource {
    inherit root;
    fileset = toolFiles;
  };
  withTests = fileset.toSource {
    inherit root;
    # tests/workflows.rs reads the workflows, and the changelog the tool's release checks.
    fileset = fileset.unions [
      toolFiles
      (root + "/tests")
      (fileset.maybeMissing (root + "/.github"))
      (fileset.maybeMissing (root + "/CHANGELOG.md"))
    ];
  };
  common = {
    inherit src;
    pname = "maou-build";
    inherit ((builtins.fromTOML (builtins.readFile (root + "/Cargo.toml"))).package) version;
    strictDeps = true;
    # .cargo/config.toml links with lld.
    nativeBuildInputs = [pkgs.lld];
    # `maou-build --version` names where it came from (build.rs).
    MAOU_BUILD_ORIGIN = "flake";
  };
  deps = craneLib.buildDepsOnly common;
in {
  inherit common deps withTests;
  package = craneLib.buildPackage (common
    // {
      cargoArtifacts = deps;
      doCheck = false;
      meta.mainProgram = "maou-build";
    });
}
