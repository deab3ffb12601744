#pragma once
// Ctrl-C for long commands: the first SIGINT or SIGTERM asks the work to stop at the next safe
// point (imgvec index: after the current chunk, which is then saved); a second one ends the
// process at once, as the default handler would.

namespace imgvec::cli {

/// Installs the handlers (once per process).
void install_interrupt_handlers();
/// Whether a first SIGINT or SIGTERM has arrived.
bool interrupted();

}  // namespace imgvec::cli
