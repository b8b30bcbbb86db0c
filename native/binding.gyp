{
  "targets": [
    {
      "target_name": "portable_mmap",
      "sources": [
        "addon.cc",
        "region.cc",
        "table.cc",
        "fault_posix.cc",
        "sys_posix.cc",
        "sys_windows.cc",
        "win_views.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api"
      ],
      "defines": [
        "NAPI_VERSION=7",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "_FILE_OFFSET_BITS=64"
      ],
      "cflags_cc": [
        "-Wall",
        "-Wextra",
        "-Wno-missing-field-initializers"
      ],
      "configurations": {
        "Release": {
          "cflags!": [
            "-O3"
          ],
          "cflags_cc!": [
            "-O3"
          ],
          "cflags": [
            "-O2"
          ],
          "cflags_cc": [
            "-O2"
          ],
          "xcode_settings": {
            "GCC_OPTIMIZATION_LEVEL": "2"
          },
          "msvs_settings": {
            "VCCLCompilerTool": {
              "Optimization": 2
            }
          }
        }
      },
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "MACOSX_DEPLOYMENT_TARGET": "10.15",
        "WARNING_CFLAGS": [
          "-Wall",
          "-Wextra"
        ]
      },
      "msvs_settings": {
        "VCCLCompilerTool": {
          "WarningLevel": 3,
          "AdditionalOptions": [
            "/std:c++17"
          ]
        }
      },
      "conditions": [
        [
          "OS=='linux'",
          {
            "ldflags": [
              "-Wl,-z,now",
              "-Wl,-z,nodelete"
            ]
          }
        ]
      ]
    }
  ]
}
