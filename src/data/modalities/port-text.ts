// Text for models imported from the PyTorch port (data=port-text; spec krasserm-interop §1): a
// Hugging Face tokenizer.json (its text model uses xlnet-base-cased's) whose ids are shifted by one,
// as an imported model's are (our id 0 is PAD), with no start or end token added — the port feeds
// its tokenizer's ids as they are. Everything else is subword text's (tokenizedTextModality).
import { tokenizedTextModality } from './subword.js';

export const portTextModality = tokenizedTextModality({
  name: 'port-text', noun: "text in the PyTorch port's ids", framing: { offset: 1, reserved: 'PAD', framed: false },
  summary: "a UTF-8 text file tokenized for a model imported from the PyTorch port (--dataPath=FILE --tokenizer=tokenizer.json; docs/interop.md)",
  help: {
    generate: "Port text: --prompt=TEXT (required: the port's models have no start token), printed as it is sampled; no stop at EOS.",
  },
  // A model that came with a tokenizer.json is text through it.
  importedData: (m) => (m.tokenizerPath ? { tokenizer: m.tokenizerPath } : null),
});
