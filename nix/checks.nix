# `nix flake check`: lints, the Rust tests that need no network or build tools beyond the
# sandbox, and the audit of both wheels.
{
  pkgs,
  craneLib,
  source,
  workspace,
  wheels,
}: let
  withTests =
    workspace.common
    // {
      src = source.withTests;
      cargoArtifacts = workspace.maou-deps;
    };
in {
  clippy = craneLib.cargoClippy (withTests
    // {
      cargoClippyExtraArgs = "--all-targets -- -D warnings";
    });
  fmt = craneLib.cargoFmt {
    inherit (workspace.common) src pname version;
  };
  # tests/wheel.rs and tests/develop.rs need uv, PyPI and a writable HOME: not here.
  # The README test reads README.md, which the sources leave out on purpose.
  tests = craneLib.cargoTest (withTests
    // {
      nativeBuildInputs = workspace.common.nativeBuildInputs ++ [pkgs.python311 pkgs.python312];
      cargoTestExtraArgs = "--workspace --lib --bins --test audit --test publish -- --skip the_readme_shows_the_cell_colab_prints";
    });
  wheels-audit =
    pkgs.runCommand "maou-wheels-audit" {
      nativeBuildInputs = [workspace.maou-build];
    } ''
      maou-build audit --module ${source.module} ${wheels.wheels}/*.whl
      touch $out
    '';
}
