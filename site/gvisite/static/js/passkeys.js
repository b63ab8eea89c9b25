// Passkeys on the staff second-step and enrolment pages. Without this file those pages say to
// use a one-time code instead; with it, the passkey part is shown and runs the WebAuthn calls.
// The server (staff/passkeys.py) gives the options as JSON and checks the answers.
(function () {
  "use strict";

  var toBytes = function (text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var binary = window.atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i += 1) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  };

  var toText = function (buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i += 1) {
      binary += String.fromCharCode(bytes[i]);
    }
    return window.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };

  var post = function (url, csrf, body) {
    return window.fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {}),
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok || data.error) {
          throw { shown: data.error };
        }
        return data;
      });
    });
  };

  var showError = function (text) {
    var box = document.querySelector("[data-passkey-error]");
    box.querySelector("[data-passkey-error-text]").textContent = text;
    box.hidden = false;
    box.focus();
  };

  var failure = function (root) {
    return function (error) {
      if (error && error.shown) {
        showError(error.shown);
      } else if (error && error.name === "NotAllowedError") {
        showError(root.getAttribute("data-cancelled"));
      } else {
        showError(root.getAttribute("data-failed"));
      }
    };
  };

  var descriptors = function (list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: toBytes(item.id), transports: item.transports };
    });
  };

  var register = function (root) {
    root.addEventListener("submit", function (event) {
      event.preventDefault();
      var csrf = root.getAttribute("data-csrf");
      var name = root.querySelector("input[name=name]").value.trim();
      if (!name) {
        showError(root.getAttribute("data-empty"));
        return;
      }
      post(root.getAttribute("data-options"), csrf)
        .then(function (options) {
          options.challenge = toBytes(options.challenge);
          options.user.id = toBytes(options.user.id);
          options.excludeCredentials = descriptors(options.excludeCredentials);
          return navigator.credentials.create({ publicKey: options });
        })
        .then(function (credential) {
          return post(root.getAttribute("data-verify"), csrf, {
            name: name,
            credential: {
              id: credential.id,
              rawId: toText(credential.rawId),
              type: credential.type,
              response: {
                clientDataJSON: toText(credential.response.clientDataJSON),
                attestationObject: toText(credential.response.attestationObject),
                transports: credential.response.getTransports ? credential.response.getTransports() : [],
              },
              clientExtensionResults: credential.getClientExtensionResults(),
            },
          });
        })
        .then(function (data) {
          window.location.assign(data.redirect);
        })
        .catch(failure(root));
    });
  };

  var login = function (root) {
    root.querySelector("[data-passkey-button]").addEventListener("click", function () {
      var csrf = root.getAttribute("data-csrf");
      post(root.getAttribute("data-options"), csrf)
        .then(function (options) {
          options.challenge = toBytes(options.challenge);
          options.allowCredentials = descriptors(options.allowCredentials);
          return navigator.credentials.get({ publicKey: options });
        })
        .then(function (credential) {
          var response = credential.response;
          return post(root.getAttribute("data-verify"), csrf, {
            id: credential.id,
            rawId: toText(credential.rawId),
            type: credential.type,
            response: {
              clientDataJSON: toText(response.clientDataJSON),
              authenticatorData: toText(response.authenticatorData),
              signature: toText(response.signature),
              userHandle: response.userHandle ? toText(response.userHandle) : null,
            },
            clientExtensionResults: credential.getClientExtensionResults(),
          });
        })
        .then(function (data) {
          window.location.assign(data.redirect);
        })
        .catch(failure(root));
    });
  };

  var start = function () {
    var root = document.querySelector("[data-passkey-register], [data-passkey-login]");
    if (!root) {
      return;
    }
    var note = document.querySelector("[data-passkey-nojs]");
    if (!window.PublicKeyCredential || !window.fetch) {
      note.textContent = root.getAttribute("data-unsupported");
      return;
    }
    note.hidden = true;
    root.hidden = false;
    if (root.hasAttribute("data-passkey-register")) {
      register(root);
    } else {
      login(root);
    }
  };

  start();
})();
