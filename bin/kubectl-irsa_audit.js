#!/usr/bin/env node
// `kubectl irsa-audit ...`: kubectl runs plugins named kubectl-<name> found on PATH, a dash in the command
// being an underscore in the file name. The same CLI as irsa-audit.
import './irsa-audit.js';
