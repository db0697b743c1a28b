package dev.longbow.samples.cli;

import dev.longbow.data.Tokenizer;
import dev.longbow.hf.HfExport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code longbow export-hf CHECKPOINT DIR}: a training checkpoint as a Hugging Face model folder. */
@Command(name = "export-hf", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Write a Longbow checkpoint as a Hugging Face LlamaForCausalLM folder: model.safetensors (weights only; "
                + "the optimizer state stays in the checkpoint), config.json and the tokenizer it was trained with.")
final class ExportHfCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "CHECKPOINT", description = "a checkpoint written by longbow train (RUN-step-NNNNNNNN.safetensors)")
    Path checkpoint;
    @Parameters(index = "1", paramLabel = "DIR", description = "the model folder to write: new or empty")
    Path dir;
    @Option(names = "--tokenizer", description = "the tokenizer to export (r50k|p50k|cl100k|o200k or a tokenizer.json; default: the "
            + "one the checkpoint names)")
    String tokenizer;

    @Override
    public Integer call() throws Exception {
        if (!Files.isRegularFile(checkpoint)) {
            throw new IllegalArgumentException("checkpoint " + checkpoint + ": no such file; pass a RUN-step-NNNNNNNN.safetensors "
                    + "from a --checkpoint-dir");
        }
        HfExport.Result r = HfExport.export(checkpoint, dir, tokenizer == null ? null : Tokenizer.open(tokenizer));
        System.out.println("longbow export-hf: " + r.config().name() + " (" + r.config().parameterCount() + " parameters) to " + dir);
        r.files().forEach(f -> System.out.println("  " + f.getFileName()));
        if (r.note() != null) {
            System.out.println("  " + r.note());
        }
        return 0;
    }
}
