package dev.longbow.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The Java side's kernel signatures against the {@code .entry} declarations of the committed
 * PTX, for every target: a renamed kernel, a parameter added on one side only, or an int passed
 * where the kernel takes a 64-bit size would otherwise surface only on a GPU, as garbage.
 */
class KernelAbiTest {
    private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+(\\w+)\\s*\\(([^)]*)\\)");
    private static final Pattern PARAM = Pattern.compile("\\.param\\s+\\.(\\w+)");
    private static final List<String> TARGETS = List.of("sm_80", "sm_90");

    /** entry name -> PTX parameter types, for one PTX file. */
    static Map<String, List<String>> entries(String file, String target) throws IOException {
        String resource = PtxTarget.resource(file, target);
        try (InputStream in = KernelAbiTest.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new AssertionError("missing PTX resource " + resource + " (run kernels-ptx/build-ptx.sh)");
            }
            String ptx = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            Map<String, List<String>> entries = new HashMap<>();
            Matcher m = ENTRY.matcher(ptx);
            while (m.find()) {
                List<String> types = new ArrayList<>();
                Matcher p = PARAM.matcher(m.group(2));
                while (p.find()) {
                    types.add(p.group(1));
                }
                entries.put(m.group(1), types);
            }
            return entries;
        }
    }

    @Test
    void everySignatureMatchesItsPtxEntryOnEveryTarget() throws IOException {
        List<String> problems = new ArrayList<>();
        for (KernelSignature sig : Kernels.ALL) {
            List<String> expected = sig.params().stream().map(KernelSignature.Param::ptxType).toList();
            for (String target : TARGETS) {
                Map<String, List<String>> entries = entries(sig.file(), target);
                for (String variant : sig.variants()) {
                    String name = sig.entry(variant);
                    List<String> actual = entries.get(name);
                    if (actual == null) {
                        problems.add(name + ": no such entry in " + sig.file() + "." + target + ".ptx");
                    } else if (!actual.equals(expected)) {
                        problems.add(name + " (" + target + "): PTX takes " + actual + ", Java passes " + expected);
                    }
                }
            }
        }
        if (!problems.isEmpty()) {
            fail(problems.size() + " kernel ABI mismatches:\n  " + String.join("\n  ", problems));
        }
    }

    @Test
    void everyCompiledKernelHasASignature() throws IOException {
        TreeSet<String> unused = new TreeSet<>();
        for (String file : Kernels.ALL.stream().map(KernelSignature::file).distinct().toList()) {
            for (String target : TARGETS) {
                for (String entry : entries(file, target).keySet()) {
                    boolean known = Kernels.ALL.stream().anyMatch(s -> s.file().equals(file)
                            && entry.startsWith(s.prefix() + "_") && s.variants().contains(entry.substring(s.prefix().length() + 1)));
                    if (!known) {
                        unused.add(file + ".cu: " + entry);
                    }
                }
            }
        }
        assertTrue(unused.isEmpty(), "kernels compiled but never launched (add a signature or drop the instantiation): " + unused);
    }

    @Test
    void signaturesAreDistinct() {
        assertEquals(Kernels.ALL.size(), Kernels.ALL.stream().map(KernelSignature::prefix).distinct().count());
    }
}
