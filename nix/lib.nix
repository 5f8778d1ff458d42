# The flake as a library: `outputsFor { src = ./.; }` gives a maturin workspace of maou's
# shape (read from its pyproject.toml and Cargo workspace, never assumed) its packages (the
# chain, `wheels`, one `wheel-cpXY` per CPython its requires-python allows, `maou-build`),
# the dev shell, the `publish-latest` app and its checks, with maou-build and the pinned
# toolchain from this flake. This repository's own outputs are `outputsFor` applied to its
# own workspace (flake.nix), so one code path serves both.
{
  nixpkgs,
  crane,
  fenix,
  toolRoot,
}: {
  outputsFor = {
    # The workspace: the directory holding its pyproject.toml.
    src,
    systems ? ["x86_64-linux"],
    # maou-build's own clippy, fmt and tests beside the product's (this repository's).
    withToolChecks ? false,
  }: let
    perSystem = nixpkgs.lib.genAttrs systems (system:
      import ./default.nix {
        inherit crane fenix system toolRoot withToolChecks;
        pkgs = nixpkgs.legacyPackages.${system};
        root = src;
      });
    collect = name: builtins.mapAttrs (_: outputs: outputs.${name}) perSystem;
  in {
    packages = collect "packages";
    devShells = collect "devShells";
    apps = collect "apps";
    checks = collect "checks";
  };
}
