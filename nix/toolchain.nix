# rustc from rust-toolchain.toml, the file rustup reads too. The hash pins the channel
# manifest (nix/pins.json), so the toolchain cannot change under the same file.
{
  fenix,
  system,
  root,
}:
fenix.packages.${system}.fromToolchainFile {
  file = root + "/rust-toolchain.toml";
  sha256 = (builtins.fromJSON (builtins.readFile ./pins.json)).rust_toolchain.manifest_sha256_sri;
}
