/* Loaded first by every test page: records what the tests assert on that the page itself would
   otherwise lose — Content-Security-Policy violations and uncaught errors. */
window.__testProbe = { csp: [], errors: [] };
document.addEventListener('securitypolicyviolation', function (e) {
  window.__testProbe.csp.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' [' + e.sample + ']' +
    ' at ' + e.sourceFile + ':' + e.lineNumber);
});
window.addEventListener('error', function (e) {
  window.__testProbe.errors.push(String(e.message) + ' at ' + e.filename + ':' + e.lineno);
});
