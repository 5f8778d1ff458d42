# Everything the flake offers for one system. Each concern has its own file beside this one.
{
  pkgs,
  crane,
  fenix,
  system,
  # The product's workspace, and maou-build's own sources (this flake).
  root,
  toolRoot,
  withToolChecks,
}: let
  inherit (pkgs) lib;
  toolchain = import ./toolchain.nix {
    inherit fenix system;
    root = toolRoot;
  };
  # crane with fenix's rustc, so the Nix build and rustup's use the same compiler.
  craneLib = (crane.mkLib pkgs).overrideToolchain toolchain;
  product = import ./product.nix {inherit lib root;};
  tool = import ./tool.nix {
    inherit lib craneLib pkgs;
    root = toolRoot;
  };
  chain = import ./chain.nix {inherit pkgs craneLib product;};
  wheels = import ./wheels.nix {
    inherit pkgs craneLib product chain;
    tool = tool.package;
  };
in {
  packages =
    {
      inherit (chain) maou-deps;
      maou-build = tool.package;
      default = wheels.wheels;
    }
    // chain.rlibs
    // wheels;
  devShells.default = import ./devshell.nix {
    inherit pkgs craneLib;
    inherit (chain) pythons;
    maou-build = tool.package;
  };
  apps = import ./apps.nix {
    inherit pkgs toolchain;
    maou-build = tool.package;
    inherit (wheels) wheels;
  };
  checks = import ./checks.nix {inherit lib pkgs craneLib product chain tool wheels withToolChecks;};
}
