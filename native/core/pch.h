// Precompiled header for the core: torch/torch.h dominates compile time.
#pragma once
#include <torch/torch.h>
