# The node-gyp build of the addon (`npx node-gyp rebuild`; `npm run build:prebuild` makes the prebuilt
# binaries with it). The cmake-js build reads CMakeLists.txt directly; this file copies nothing from it or
# from LibTorch: scripts/torch-flags.mjs configures CMakeLists.txt (LibTorch's own CMake package) and
# prints each target's sources, compile flags (defines, include directories, C++ standard) and link
# libraries as CMake computed them. Two targets, as in CMakeLists.txt: the plain C++ core and the addon.
{
  'target_defaults': {
    # LibTorch needs RTTI, and node-addon-api is built with C++ exceptions (NAPI_CPP_EXCEPTIONS).
    # CMake's -std comes after node-gyp's and wins.
    'cflags_cc!': ['-fno-rtti', '-fno-exceptions'],
  },
  'targets': [
    {
      'target_name': 'torchxfer_core',
      'type': 'static_library',
      'sources': ['<!@(node scripts/torch-flags.mjs sources core "<(node_root_dir)")'],
      'cflags_cc': ['<!@(node scripts/torch-flags.mjs cflags core "<(node_root_dir)")'],
    },
    {
      'target_name': 'torchxfer',
      'dependencies': ['torchxfer_core'],
      'sources': ['<!@(node scripts/torch-flags.mjs sources addon "<(node_root_dir)")'],
      'cflags_cc': ['<!@(node scripts/torch-flags.mjs cflags addon "<(node_root_dir)")'],
      'libraries': ['<!@(node scripts/torch-flags.mjs libraries addon "<(node_root_dir)")'],
    },
  ],
}
