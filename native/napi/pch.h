// Precompiled header for the N-API layer.
#pragma once
#include <napi.h>
#include <torch/torch.h>
