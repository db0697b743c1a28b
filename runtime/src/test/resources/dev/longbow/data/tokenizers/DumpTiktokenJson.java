import dev.longbow.data.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

/** Writes Longbow's tokenizer.json export of each tiktoken encoding into the folder given: NAME.tokenizer.json. */
public class DumpTiktokenJson {
    public static void main(String[] args) throws Exception {
        for (String name : new String[]{"r50k", "cl100k", "o200k"}) {
            Files.writeString(Path.of(args[0], name + ".tokenizer.json"), Tokenizer.named(name).toTokenizerJson());
        }
    }
}
