{
  "target_defaults": {
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
    "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fPIC"],
    "conditions": [
      ["OS=='mac'", {
        "xcode_settings": { "CLANG_CXX_LANGUAGE_STANDARD": "c++17", "GCC_OPTIMIZATION_LEVEL": "3" }
      }],
      ["OS=='win'", { "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17", "/O2"] } } }]
    ]
  },
  "targets": [
    {
      "target_name": "tunesmith_kernels",
      "dependencies": ["gemm_avx512", "gemm_avx2", "vector_avx512", "vector_avx2", "vector_portable"],
      "sources": [
        "src/addon.cc",
        "src/blas.cc",
        "src/gemm.cc",
        "src/gemm_portable.cc",
        "src/gemm_neon.cc",
        "src/thread_pool.cc",
        "src/linear.cc",
        "src/layer_norm.cc",
        "src/activations.cc",
        "src/attention.cc",
        "src/cross_entropy.cc",
        "src/embedding.cc",
        "src/optimizer.cc",
        "src/elementwise.cc",
        "src/gemm_bf16.cc",
        "src/dropout.cc"
      ],
      "conditions": [
        ["target_arch=='x64'", { "dependencies": ["tunesmith_bf16_x64"] }],
        ["OS=='linux'", { "libraries": ["-lpthread"] }],
        ["OS=='mac'", {
          "defines": ["TS_HAVE_ACCELERATE", "ACCELERATE_NEW_LAPACK"],
          "libraries": ["-framework Accelerate"]
        }]
      ]
    },
    {
      # Every AVX-512F file: the GEMM micro-kernel and attention's row steps.
      "target_name": "gemm_avx512",
      "type": "static_library",
      "sources": ["src/gemm_avx512.cc", "src/attention_avx512.cc"],
      "conditions": [
        ["target_arch=='x64' and OS!='win'", { "cflags_cc": ["-mavx512f", "-mfma"], "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-mavx512f", "-mfma"] } }],
        ["target_arch=='x64' and OS=='win'", { "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/arch:AVX512"] } } }]
      ]
    },
    {
      "target_name": "gemm_avx2",
      "type": "static_library",
      "sources": ["src/gemm_avx2.cc"],
      "conditions": [
        ["target_arch=='x64' and OS!='win'", { "cflags_cc": ["-mavx2", "-mfma"], "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-mavx2", "-mfma"] } }],
        ["target_arch=='x64' and OS=='win'", { "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/arch:AVX2"] } } }]
      ]
    },
    {
      # vector_kernels.cc once per instruction set (vector_kernels.h); TS_VECTOR_ISA names the
      # table each copy defines, and the x86 ones are empty elsewhere.
      "target_name": "vector_avx512",
      "type": "static_library",
      "sources": ["src/vector_kernels.cc"],
      "conditions": [
        ["target_arch=='x64' and OS!='win'", { "defines": ["TS_VECTOR_ISA=avx512"], "cflags_cc": ["-mavx512f", "-mfma"], "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-mavx512f", "-mfma"] } }],
        ["target_arch=='x64' and OS=='win'", { "defines": ["TS_VECTOR_ISA=avx512"], "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/arch:AVX512"] } } }]
      ]
    },
    {
      "target_name": "vector_avx2",
      "type": "static_library",
      "sources": ["src/vector_kernels.cc"],
      "conditions": [
        ["target_arch=='x64' and OS!='win'", { "defines": ["TS_VECTOR_ISA=avx2"], "cflags_cc": ["-mavx2", "-mfma"], "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-mavx2", "-mfma"] } }],
        ["target_arch=='x64' and OS=='win'", { "defines": ["TS_VECTOR_ISA=avx2"], "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/arch:AVX2"] } } }]
      ]
    },
    {
      "target_name": "vector_portable",
      "type": "static_library",
      "sources": ["src/vector_kernels.cc"],
      "defines": ["TS_VECTOR_ISA=portable"]
    },
    {
      # The bf16 kernels need instructions the baseline x86-64 lacks, so only their files are
      # compiled for them; gemm_bf16.cc calls into them only on CPUs that have them.
      "target_name": "tunesmith_bf16_x64",
      "type": "static_library",
      "sources": ["src/gemm_bf16_avx512.cc"],
      "conditions": [
        ["target_arch!='x64'", { "type": "none" }],
        ["target_arch=='x64' and OS!='win'", {
          "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512bf16", "-mfma"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512bf16", "-mfma"] }
        }],
        ["target_arch=='x64' and OS=='win'", { "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/arch:AVX512"] } } }]
      ]
    }
  ]
}
