# `nix flake check`: the tool's and the product's lints and tests (those that run in a
# sandbox without network), and the audit of the wheels.
{
  lib,
  pkgs,
  craneLib,
  product,
  chain,
  tool,
  wheels,
  # maou-build's own clippy, fmt and tests too (this repository's flake).
  withToolChecks,
}: let
  # The product's own workspace, in the test profile: a deps derivation of its own, since
  # the chain's are release builds of the extension only.
  productArgs = {
    inherit (product) src version;
    inherit (chain.common) cargoVendorDir CARGO_TARGET_DIR;
    pname = "${product.name}-checks";
    strictDeps = true;
    nativeBuildInputs = [pkgs.lld];
    # Not the dev dylib: a release build of it would link every dependency with thin LTO
    # for nothing (tests never load it).
    cargoExtraArgs = "--locked --manifest-path ${product.workspaceDir}/Cargo.toml --workspace" + lib.concatMapStrings (c: " --exclude ${c}") product.devDylibCrates;
  };
  productDeps = craneLib.buildDepsOnly (builtins.removeAttrs productArgs ["src"]
    // {
      dummySrc = craneLib.mkDummySrc {
        inherit (product) src;
        extraDummyScript = "cp ${product.lockSrc}/${product.lockPath} $out/${product.lockPath}";
      };
    });
  withProductDeps = productArgs // {cargoArtifacts = productDeps;};
  testBinaries = builtins.fromJSON (builtins.readFile ./test-binaries.json);
  withToolDeps =
    tool.common
    // {
      src = tool.withTests;
      cargoArtifacts = tool.deps;
    };
  toolChecks = {
    clippy = craneLib.cargoClippy (withToolDeps
      // {
        cargoClippyExtraArgs = "--all-targets -- -D warnings";
      });
    fmt = craneLib.cargoFmt {inherit (tool.common) src pname version;};
    # The test binaries that run in the sandbox, and the tests they skip, with the reason for
    # every other binary: nix/test-binaries.json.
    tests = craneLib.cargoTest (withToolDeps
      // {
        nativeBuildInputs = tool.common.nativeBuildInputs ++ chain.pythons;
        cargoTestExtraArgs =
          "--lib --bins"
          + lib.concatMapStrings (t: " --test ${t}") testBinaries.sandbox
          + " --"
          + lib.concatMapStrings (t: " --skip ${t}") (builtins.attrNames testBinaries.skip);
      });
  };
in
  {
    product-clippy = craneLib.cargoClippy (withProductDeps
      // {
        cargoClippyExtraArgs = "--all-targets -- -D warnings";
      });
    product-fmt = craneLib.cargoFmt (productArgs
      // {
        cargoExtraArgs = "--manifest-path ${product.workspaceDir}/Cargo.toml --all";
      });
    product-tests = craneLib.cargoTest withProductDeps;
    wheels-audit =
      pkgs.runCommand "${product.name}-wheels-audit" {
        nativeBuildInputs = [tool.package];
      } ''
        maou-build audit --module ${product.module} ${wheels.wheels}/*.whl
        touch $out
      '';
  }
  // lib.optionalAttrs withToolChecks toolChecks
