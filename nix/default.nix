# Everything the flake offers for one system. Each concern has its own file beside this one.
{
  pkgs,
  crane,
  fenix,
  system,
  root,
}: let
  toolchain = import ./toolchain.nix {inherit fenix system root;};
  # crane with fenix's rustc, so the Nix build and rustup's use the same compiler.
  craneLib = (crane.mkLib pkgs).overrideToolchain toolchain;
  source = import ./source.nix {
    inherit (pkgs) lib;
    inherit root;
  };
  workspace = import ./workspace.nix {inherit pkgs craneLib source;};
  wheels = import ./wheels.nix {inherit pkgs craneLib source workspace;};
in {
  packages = {
    inherit (workspace) maou-deps maou-io maou-index maou-build;
    inherit (wheels) wheel-cp311 wheel-cp312 wheels;
    default = wheels.wheels;
  };
  devShells.default = import ./devshell.nix {
    inherit pkgs craneLib;
    inherit (workspace) maou-build;
  };
  apps = import ./apps.nix {
    inherit pkgs;
    inherit (workspace) maou-build;
    inherit (wheels) wheels;
  };
  checks = import ./checks.nix {inherit pkgs craneLib source workspace wheels;};
}
