// Imported first by the CLI's entry point, for its side effect: see keepTickObjectShape. A module
// of its own because ES module imports run before the importing module's body, and this must run
// before the server's modules load.
import { keepTickObjectShape } from '../server/tick-object-shape.js';

keepTickObjectShape();
