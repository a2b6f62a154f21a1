// Training-step benchmarks over the plain C++ core, no Node: the whole Trainer::step as `npm run
// bench` times it, and its phases (augment, forward + loss, backward, optimiser) for profiling.
#pragma once
#include <string>
#include <vector>

namespace torchxfer::bench {

// argv after "train": ARCH BATCH SIZE ITERS [nchw|cl] [DEVICE] [phases]. Prints one JSON line.
int train_command(const std::vector<std::string>& args);

}  // namespace torchxfer::bench
