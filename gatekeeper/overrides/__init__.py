"""Signed overrides, pure: the message (message), its comment blocks (blocks), SSHSIG
(sshsig), the allowed_signers file (allowed_signers), which overrides count (evaluate), the
apply override (apply) and what the signer's tool computes and shows (signer).

ssh-keygen is run by gatekeeper.adapters.ssh_keygen; the files are read by
gatekeeper.adapters.trustroot.
"""
