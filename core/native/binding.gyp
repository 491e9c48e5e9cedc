{
  "variables": {
    "blas%": "<!(node ./find-blas.cjs)",
    "portable%": "<!(node -p \"process.env.TUNESMITH_PORTABLE_BUILD ? 1 : 0\")"
  },
  "targets": [
    {
      "target_name": "tunesmith_kernels",
      "sources": [
        "src/addon.cc",
        "src/blas.cc",
        "src/thread_pool.cc",
        "src/linear.cc",
        "src/layer_norm.cc",
        "src/activations.cc",
        "src/attention.cc",
        "src/cross_entropy.cc",
        "src/embedding.cc",
        "src/optimizer.cc",
        "src/elementwise.cc",
        "src/gemm_bf16.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno"],
      "conditions": [
        ["portable==0 and OS!='win' and target_arch=='x64'", { "cflags_cc": ["-march=native"] }],
        ["target_arch=='x64'", { "dependencies": ["tunesmith_bf16_x64"] }],
        ["blas=='openblas'", { "defines": ["TS_HAVE_CBLAS"], "libraries": ["-lopenblas"] }],
        ["OS=='linux'", { "libraries": ["-lpthread"] }],
        ["OS=='mac'", {
          "defines": ["TS_HAVE_ACCELERATE", "ACCELERATE_NEW_LAPACK"],
          "libraries": ["-framework Accelerate"],
          "xcode_settings": { "CLANG_CXX_LANGUAGE_STANDARD": "c++17", "GCC_OPTIMIZATION_LEVEL": "3" }
        }],
        ["OS=='win'", { "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17", "/O2"] } } }]
      ]
    },
    {
      # The bf16 kernels need instructions the baseline x86-64 lacks, so only their files are
      # compiled for them; gemm_bf16.cc calls into them only on CPUs that have them.
      "target_name": "tunesmith_bf16_x64",
      "type": "static_library",
      "conditions": [["target_arch!='x64'", { "type": "none" }]],
      "sources": ["src/gemm_bf16_avx512.cc"],
      "cflags_cc": ["-std=c++17", "-O3", "-fPIC", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512bf16", "-mfma"],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_OPTIMIZATION_LEVEL": "3",
        "OTHER_CPLUSPLUSFLAGS": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512bf16", "-mfma"]
      },
      "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17", "/O2"] } }
    }
  ]
}
