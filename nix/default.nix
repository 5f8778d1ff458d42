# Everything the flake offers for one system. Each concern has its own file beside this one.
{
  pkgs,
  crane,
  fenix,
  system,
  root,
}: let
  inherit (pkgs) lib;
  toolchain = import ./toolchain.nix {inherit fenix system root;};
  # crane with fenix's rustc, so the Nix build and rustup's use the same compiler.
  craneLib = (crane.mkLib pkgs).overrideToolchain toolchain;
  product = import ./product.nix {inherit lib root;};
  tool = import ./tool.nix {inherit lib craneLib root pkgs;};
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
  checks = import ./checks.nix {inherit lib pkgs craneLib product chain tool wheels;};
}
