/** The README's programs: a Longbow application as a user writes one, built against the installed artifacts. */
module dev.longbow.examples {
    requires dev.longbow.runtime;
}
