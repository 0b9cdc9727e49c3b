/* The probe: host.rs puts it first in every page it serves, so it runs before any other script
   and works the same in every engine. Records what the tests assert on that the page itself
   would otherwise lose — Content-Security-Policy violations, uncaught errors, everything that
   would show as an error in the browser's console, and the WebSockets opened. */
if (!window.__testProbe) {
  (function () {
    var probe = window.__testProbe = { csp: [], errors: [], console: [], sockets: [] };
    document.addEventListener('securitypolicyviolation', function (e) {
      var line = e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' [' + e.sample + ']' +
        ' at ' + e.sourceFile + ':' + e.lineNumber;
      probe.csp.push(line);
      probe.console.push('Content-Security-Policy: ' + line);
    });
    // Capturing: an element that fails to load (script, stylesheet, image) fires a non-bubbling
    // error event at itself; an uncaught exception fires an ErrorEvent at the window.
    window.addEventListener('error', function (e) {
      if (e instanceof ErrorEvent) {
        var line = String(e.message) + ' at ' + e.filename + ':' + e.lineno;
        probe.errors.push(line);
        probe.console.push('Uncaught ' + line);
      } else if (e.target && e.target !== window) {
        probe.console.push('Failed to load <' + e.target.localName + '> ' + (e.target.src || e.target.href));
      }
    }, true);
    window.addEventListener('unhandledrejection', function (e) {
      probe.console.push('Unhandled rejection: ' + String(e.reason));
    });
    var nativeError = console.error;
    console.error = function () {
      probe.console.push(Array.prototype.map.call(arguments, String).join(' '));
      return nativeError.apply(console, arguments);
    };
    (function (Native) {
      function Probe(url, protocols) {
        probe.sockets.push(String(url));
        return protocols === undefined ? new Native(url) : new Native(url, protocols);
      }
      Probe.prototype = Native.prototype;
      ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'].forEach(function (k) { Probe[k] = Native[k]; });
      window.WebSocket = Probe;
    })(window.WebSocket);
  })();
}
