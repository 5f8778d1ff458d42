# Stand-in for fenix: the toolchain records the file and manifest hash it was built from.
{
  packages.x86_64-linux.fromToolchainFile = {
    file,
    sha256,
  }: {
    kind = "fenix-toolchain";
    file = toString file;
    inherit sha256;
  };
}
